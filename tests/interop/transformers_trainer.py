"""LoRA+ training as LongLoRA's fine-tune.py runs it: transformers' Trainer + PEFT, on given initial values and
micro-batches, for comparison with `longlora train`.

usage: transformers_trainer.py DIR
DIR/options.json  {"model": HF dir, "context": T, "lr", "warmup_steps", "max_steps", "grad_accum",
                   "max_grad_norm", "weight_decay", "lora_r", "lora_alpha", "trainable": "embed,norm", "seed"}
DIR/init.safetensors     the starting value of every trainable tensor under longlora's names
                         (base_model.model.<module>.lora_A.weight / lora_B.weight, HF names for the rest)
DIR/batches.safetensors  tokens.<m>, targets.<m> [1, T] I32: micro-batch m = 0, 1, ... in the order
                         longlora reads them (targets = next token, -100 at the last position)
Writes DIR/hf_final.safetensors (every trainable tensor after the last update, longlora's names) and
DIR/hf_steps.json {"loss": [...], "grad_norm": [...], "lr": [...]} per update.

As fine-tune.py: the config gets rope_scaling {"type": "linear", "factor": ceil(T / max_position_embeddings)}
when T exceeds it; LoRA r/alpha on q/k/v/o with dropout 0; every parameter whose name contains one of
`trainable` is trained too; gradient checkpointing on; Trainer with optim adamw_torch, constant_with_warmup,
and the given weight decay, max_grad_norm and accumulation; f32 (no bf16 flag), eager attention = full
attention. Two departures, both about feeding the same data, neither about the math:
  - rows are read in the given order (a SequentialSampler instead of Trainer's seeded RandomSampler);
  - each row's first label is -100. It is never a target (the loss shifts labels by one), but
    transformers 4.46-4.x counts it in num_items_in_batch, the divisor of the accumulated loss, which
    makes every loss and gradient (T-1)/T of the mean token loss (huggingface/transformers#46204, fixed
    upstream in 2026). Masking it makes the count the number of predicted tokens, as the fix does.
Per-update losses are recorded unrounded (Trainer's log rounds them to 4 digits): the sum of the values
training_step returns, which is what Trainer accumulates as tr_loss.
"""
import json
import math
import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset, SequentialSampler
from transformers import AutoConfig, AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments


def longlora_name(peft_name):
    """PEFT's parameter name -> longlora's (PEFT's saved adapter names; HF names for the base weights)."""
    name = peft_name.replace(".default.", ".")
    return name if ".lora_" in name else name[len("base_model.model."):]


class Rows(Dataset):
    def __init__(self, batches, count, context):
        self.rows = []
        for m in range(count):
            tokens, targets = batches["tokens.%d" % m].long()[0], batches["targets.%d" % m].long()[0]
            assert tokens.shape == (context,), "micro-batch %d: one row of %d tokens expected" % (m, context)
            assert torch.equal(targets[:-1], tokens[1:]) and targets[-1] == -100, "targets must be the next tokens"
            labels = tokens.clone()
            labels[0] = -100  # never a target; see the module docstring
            self.rows.append({"input_ids": tokens, "labels": labels})

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


class InOrderTrainer(Trainer):
    """Trainer reading the rows in the dataset's order, recording each micro-batch's loss."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.micro_losses = []

    def _get_train_sampler(self):
        return SequentialSampler(self.train_dataset)

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        self.micro_losses.append(loss.item())
        return loss


class Record(TrainerCallback):
    def __init__(self):
        self.lr, self.grad_norm = [], []

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.lr.append(optimizer.param_groups[0]["lr"])

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "grad_norm" in logs:
            self.grad_norm.append(float(logs["grad_norm"]))


def main():
    d = sys.argv[1]
    o = json.load(open(os.path.join(d, "options.json")))
    torch.manual_seed(o["seed"])

    config = AutoConfig.from_pretrained(o["model"])
    orig_ctx_len = config.max_position_embeddings
    if o["context"] > orig_ctx_len:
        config.rope_scaling = {"type": "linear", "factor": float(math.ceil(o["context"] / orig_ctx_len))}
    model = AutoModelForCausalLM.from_pretrained(o["model"], config=config, torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    lora = LoraConfig(r=o["lora_r"], lora_alpha=o["lora_alpha"], target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                      lora_dropout=0, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    for n, p in model.named_parameters():
        if any(k in n for k in o["trainable"].split(",")):
            p.requires_grad_()
    model.enable_input_require_grads()
    model.gradient_checkpointing_enable()

    # Start from longlora's values; both sides must train exactly the same tensors.
    init = load_file(os.path.join(d, "init.safetensors"))
    trained = {longlora_name(n): p for n, p in model.named_parameters() if p.requires_grad}
    assert sorted(trained) == sorted(init), "trainable sets differ: only PEFT %s, only longlora %s" % (
        sorted(set(trained) - set(init))[:4], sorted(set(init) - set(trained))[:4])
    with torch.no_grad():
        for name, p in trained.items():
            assert p.shape == init[name].shape, name
            p.copy_(init[name])

    steps, accum = o["max_steps"], o["grad_accum"]
    rows = Rows(load_file(os.path.join(d, "batches.safetensors")), steps * accum, o["context"])
    args = TrainingArguments(
        output_dir=os.path.join(d, "hf_trainer"), optim="adamw_torch", learning_rate=o["lr"],
        weight_decay=o["weight_decay"], warmup_steps=o["warmup_steps"], lr_scheduler_type="constant_with_warmup",
        max_steps=steps, per_device_train_batch_size=1, gradient_accumulation_steps=accum,
        max_grad_norm=o["max_grad_norm"], logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        seed=o["seed"], disable_tqdm=True, dataloader_num_workers=0)
    record = Record()
    trainer = InOrderTrainer(model=model, args=args, train_dataset=rows, callbacks=[record])
    trainer.train()

    assert len(trainer.micro_losses) == steps * accum and len(record.lr) == steps
    losses = [sum(trainer.micro_losses[s * accum:(s + 1) * accum]) for s in range(steps)]
    json.dump({"loss": losses, "grad_norm": record.grad_norm, "lr": record.lr},
              open(os.path.join(d, "hf_steps.json"), "w"))
    save_file({name: p.detach().float().contiguous() for name, p in trained.items()},
              os.path.join(d, "hf_final.safetensors"))


if __name__ == "__main__":
    main()
