"""Jobs that ask for more time than the cluster gives one job (``resources.time_limit``,
minutes). A training resumes across submissions, but only from the state it last wrote: asking
for more than the limit, it is killed before it stops itself. An inversion chunk, a diagnostics
or a distance job cannot resume at all: killed at the limit, it would be resubmitted to the same
end."""

from __future__ import annotations


def over_the_limit(plan, resources: dict) -> list[str]:
    """One message per kind of job whose runtime exceeds ``resources['time_limit']`` (none if
    the config names no limit)."""
    limit = resources.get("time_limit")
    if not limit:
        return []
    messages = []
    if resources["train_runtime"] > limit:
        messages.append(
            f"resources.train_runtime ({resources['train_runtime']} min) exceeds "
            f"resources.time_limit ({limit} min): a training is killed before it stops itself; "
            f"it resumes only from its last periodic state. Set train_runtime to at most "
            f"{limit}: a longer training then goes on over several submissions"
        )
    step = resources["invert_runtime"]
    if step > limit:
        messages.append(
            f"resources.invert_runtime ({step} min) exceeds resources.time_limit ({limit} min): "
            f"inversion, diagnostics and distance jobs cannot resume; lower it to the limit"
        )
    longest: dict[str, tuple[int, object]] = {}
    for chunk in plan.inversions.chunks:
        batches = plan.inversions.batches(chunk)
        if batches > longest.get(chunk.model, (0, None))[0]:
            longest[chunk.model] = (batches, chunk)
    for model, (batches, chunk) in longest.items():
        if batches * step > limit:
            messages.append(
                f"models.{model}: its largest inversion chunk (seed {chunk.seed}, layer "
                f"{chunk.layer}, t {chunk.t}) runs {batches} batched optimizations of "
                f"{plan.inversions.steps_per_batch(model)} steps, asking for {batches * step} "
                f"min, more than resources.time_limit ({limit} min), and a chunk cannot resume. "
                f"Raise models.{model}.invert_chunk (more steps per optimization, more memory), "
                f"set it to 1 (one job per step), or lower resources.invert_runtime if a "
                f"batched optimization takes less"
            )
    return messages
