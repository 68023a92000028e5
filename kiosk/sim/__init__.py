"""The embedded twins for demo and tests: Stripe emulator, virtual scanner and printer."""
