"""Torch methods the jobs compose: training, inversion, objectives, redundancy and similarity
measures, norm distances, block probes, seeding."""
