"""The live systems modelops reconciles into: the protocol and types they share (`base`), and
one module per system."""
