"""Scanner and printer: one small interface each, and the real drivers (later issues)."""
