"""Training health in the window: findings listed with their fixes, a gradient-flow chart, badges on blocks."""
