"""DecentralML client."""
