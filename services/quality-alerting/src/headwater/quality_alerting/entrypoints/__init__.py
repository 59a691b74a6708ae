"""How requests and messages reach the use cases."""
