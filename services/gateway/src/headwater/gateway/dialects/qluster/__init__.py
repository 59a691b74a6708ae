"""The Qluster dialect (spec 003)."""
