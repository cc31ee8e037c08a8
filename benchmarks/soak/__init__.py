"""Soak tests of the studio: many large uploads in a row, memory and temp disk watched."""
