"""People who sign in: user accounts, passwords (argon2id), access JWTs and rotating refresh tokens."""
