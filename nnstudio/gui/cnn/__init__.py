"""Inside a CNN in the window: the Filters & maps dock, the Results dock, and the training tap that feeds them."""
