"""What every room of the window shares: theme colours, icons, file locations, dock sizes, wheel guard."""
