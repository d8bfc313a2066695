"""Passkey prompts exactly as LongLoRA's passkey_retrivial.py builds them (numpy's legacy
RandomState: `from numpy import random`), for a list of (n_garbage, seed) pairs.

usage: passkey_oracle.py OUT_DIR N_GARBAGE:SEED ...
Writes OUT_DIR/prompt-N_GARBAGE-SEED.txt and answer-N_GARBAGE-SEED.txt (UTF-8, no trailing newline).
"""
import os
import sys

from numpy import random


def generate_prompt_landmark(n_garbage, seed):
    # The steps and strings of passkey_retrivial.py's function of the same name.
    state = random.get_state()
    random.seed(seed)
    n_garbage_prefix = random.randint(0, n_garbage)
    n_garbage_suffix = n_garbage - n_garbage_prefix
    task_description = ("There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
                        "them. I will quiz you about the important information there.")
    garbage = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    garbage_inf = " ".join([garbage] * 5000)
    assert len(garbage_inf) >= n_garbage
    pass_key = random.randint(1, 50000)
    lines = [task_description, garbage_inf[:n_garbage_prefix],
             f"The pass key is {pass_key}. Remember it. {pass_key} is the pass key.",
             garbage_inf[:n_garbage_suffix], "What is the pass key? The pass key is"]
    random.set_state(state)
    return "\n".join(lines), str(pass_key)


def main():
    out = sys.argv[1]
    for spec in sys.argv[2:]:
        n, seed = (int(x) for x in spec.split(":"))
        prompt, answer = generate_prompt_landmark(n, seed)
        with open(os.path.join(out, f"prompt-{n}-{seed}.txt"), "w", encoding="utf-8") as f:
            f.write(prompt)
        with open(os.path.join(out, f"answer-{n}-{seed}.txt"), "w", encoding="utf-8") as f:
            f.write(answer)


if __name__ == "__main__":
    main()
