"""Local SQLite storage through sqlite-utils: migrations, pragmas and repositories."""
