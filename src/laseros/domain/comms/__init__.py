"""Communications: the log of every message in or out, email out and in, and the message templates."""
