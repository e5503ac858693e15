#!/usr/bin/env python3
"""Splits a labelled TSV (label<TAB>text, header line) into train and held-out files for
`qunzhu moderation train` / `qunzhu eval moderation`: exact duplicate texts are kept once (the
first label wins) and one text in five goes to the held-out file, chosen by the MD5 of the text,
so no held-out text is ever trained on and the split is the same on every machine.

usage: bench/split_labels.py IN.tsv TRAIN.tsv HELDOUT.tsv
"""
import hashlib
import sys

def main() -> None:
    src, train_path, test_path = sys.argv[1:4]
    seen = {}
    with open(src, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t", 1)
            if n == 0 and parts[0] == "label" or len(parts) != 2:
                continue
            seen.setdefault(parts[1], parts[0])
    with open(train_path, "w", encoding="utf-8") as train, open(test_path, "w", encoding="utf-8") as test:
        for out in (train, test):
            out.write("label\ttext\n")
        for text, label in seen.items():
            held = int(hashlib.md5(text.encode()).hexdigest(), 16) % 5 == 0
            (test if held else train).write(f"{label}\t{text}\n")

if __name__ == "__main__":
    main()
