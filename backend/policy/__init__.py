"""Policy for clients: the rules the server enforces that a client must also apply (DESIGN §5)."""
