"""Images: datasets (MNIST, photos, ImageFolder) and the prepared image sets."""
