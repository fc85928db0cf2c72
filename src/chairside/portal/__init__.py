"""The patient's phone pages (H5) under /p/<organization>/: SMS sign-in, online booking (S4),
my bookings with cancel and reschedule."""
