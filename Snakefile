"""Neural networks preserve invertibility across iterations: the whole paper, end to end.

snakemake --cores N                      the embedded default (config.yaml), laptop CPU
snakemake --configfile config/paper.yaml  ImageNet at paper scale (set the data paths)
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),


include: "rules/train.smk"
include: "rules/invert.smk"
include: "rules/distances.smk"
include: "rules/tables.smk"
include: "rules/figures.smk"


onsuccess:
    print_claims(paths.claims())
