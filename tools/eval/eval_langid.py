#!/usr/bin/python3
"""eval_langid.py — accuracy of attnserve's language identification (attnserve-cli detect, the
code behind POST /detect and source "auto") on held-out sentences, per language:
multi30k test_2016_flickr captions in en, de, fr, cs (1,000 each) and the last 2,000 tatoeba
pairs (short everyday sentences, en and de only). An undecided answer counts as wrong.

    tools/eval/eval_langid.py [--cli build/cli/attnserve-cli] [--langs en,de,fr,cs]

How the method was chosen (CLD2 alone, libexttextcat alone, or both) is in
tools/eval/langid_compare.cc, which measures the three on the same sentences.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
import data  # noqa: E402


def sets():
    out = []
    for lang in data.LANGS:
        out.append((f"multi30k test {lang}", lang,
                    data.read_lines(f"multi30k/test_2016_flickr.{lang}.gz")))
    tat = [line.split("\t") for line in data.read_lines("tatoeba/deu-eng.tsv.gz")[-2000:]]
    out.append(("tatoeba en (short)", "en", [c[0] for c in tat if len(c) == 2]))
    out.append(("tatoeba de (short)", "de", [c[1] for c in tat if len(c) == 2]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "attnserve-cli"))
    ap.add_argument("--langs", default=",".join(data.LANGS))
    args = ap.parse_args()
    print("| sentences | n | right | accuracy | undecided |")
    print("|---|---|---|---|---|")
    for name, lang, lines in sets():
        lines = [" ".join(s.split()) for s in lines]
        res = subprocess.run([args.cli, "detect", "--langs", args.langs], input="\n".join(lines) + "\n",
                             capture_output=True, text=True, check=True)
        got = [r.split("\t")[0] for r in res.stdout.splitlines()]
        assert len(got) == len(lines), (len(got), len(lines))
        right = sum(g == lang for g in got)
        und = sum(g == "und" for g in got)
        print(f"| {name} | {len(lines)} | {right} | {100.0 * right / len(lines):.2f}% | {und} |")


if __name__ == "__main__":
    main()
