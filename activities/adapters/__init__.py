"""Department adapters: each hides one kind of department system behind `DepartmentAdapter`."""
