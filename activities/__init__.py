"""Activities: everything that touches the outside world (department systems, surveys)."""
