"""What a run is served: the course's datasets, their variants and the evidence that chooses them."""
