"""Torch methods the jobs compose: training, inversion, objectives, identification, redundancy and
similarity measures, norm distances, block probes."""
