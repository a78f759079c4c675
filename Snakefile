"""Neural networks preserve invertibility across iterations: the whole paper, end to end.

snakemake --cores N                       the embedded default (config.yaml), laptop CPU
snakemake --configfile config/paper.yaml  ImageNet at paper scale (set the data paths)

A config file given on the command line replaces the embedded default (it is not merged into
it); --config key=value overrides apply on top of whichever config runs.
"""

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


include: "rules/common.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),


include: "rules/images.smk"
include: "rules/train.smk"
include: "rules/invert.smk"
include: "rules/distances.smk"
include: "rules/tables.smk"
include: "rules/diagnostics.smk"
include: "rules/augmentation.smk"
include: "rules/figures.smk"


onsuccess:
    print_claims(paths.claims())
