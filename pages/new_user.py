"""New user (admins): one person with a password or an invitation, or a bulk invite from a list."""

from admin_core.ui import newuser
from admin_core.ui.gate import require_access

identity = require_access(admin=True)

newuser.heading()
found = newuser.connections()
if found:
    newuser.one_person(identity, found)
    newuser.bulk(identity, found)
