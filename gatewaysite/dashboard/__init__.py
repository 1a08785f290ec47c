"""The spend dashboard at /dashboard/: server-rendered pages over the hourly roll-up, for staff and team admins."""
