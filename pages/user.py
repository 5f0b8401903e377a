"""One person (`/user?id=...`): why they cannot sign in, their Auth0 log, the fixes, their profile."""

from admin_core.ui import person
from admin_core.ui.gate import require_access

identity = require_access()

user_id = person.start()
person.show_messages()
person.back_button()
file = person.load(user_id)
if file is not None:
    person.open_dialog(file, identity)
    person.heading(file)
    person.sections(file, identity)
