#!/usr/bin/python3
"""make_spm_cases.py — builds tests/fixtures/tokenizers/spm/: small SentencePiece models that
exercise what the shipped Marian/T5 models do not (BPE, byte fallback, user-defined and control
symbols, custom normalization rules with multi-character longest matches, case folding, no dummy
prefix, whitespace as suffix, a denormalizer), and the reference output of Debian's
sentencepiece 0.1.97 (the library transformers calls) for each model on a set of texts.

Run from the repository root with Debian's python3 (which has sentencepiece) and spm_train:
    /usr/bin/python3 tools/tok_fixtures/make_spm_cases.py ../shared/data
Only training text from ../shared/data is read; nothing is downloaded.
"""
import gzip, json, os, subprocess, sys
import sentencepiece as spm

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
out = "tests/fixtures/tokenizers/spm"
work = "/tmp/tok_fixtures_work"
os.makedirs(out, exist_ok=True)
os.makedirs(work, exist_ok=True)

with open(f"{work}/train.txt", "w") as f:
    for path, n in (("multi30k/train.en.gz", 6000), ("europarl/train.en.gz", 2000)):
        with gzip.open(f"{data}/{path}", "rt") as g:
            for i, line in enumerate(g):
                if i >= n:
                    break
                f.write(line)
with open(f"{work}/rules.tsv", "w") as f:  # digits 1-3 -> 0, "AB" -> "X" (longest match over "A")
    f.write("31\t30\n32\t30\n33\t30\n41 42\t58\n41\t61\n2116\t2D\n")
with open(f"{work}/denorm.tsv", "w") as f:
    f.write("2D\t2010\n65 65\t45 45\n")

common = [f"--input={work}/train.txt", "--minloglevel=2"]
models = {
    "uni_bf": ["--vocab_size=1200", "--model_type=unigram", "--byte_fallback=true",
               "--user_defined_symbols=<sep>,@@", "--normalization_rule_name=nmt_nfkc_cf"],
    "bpe_rules": ["--vocab_size=1000", "--model_type=bpe", f"--normalization_rule_tsv={work}/rules.tsv",
                  "--control_symbols=<ctl>", "--user_defined_symbols=##"],
    "uni_raw": ["--vocab_size=800", "--model_type=unigram", "--add_dummy_prefix=false",
                "--remove_extra_whitespaces=false", "--normalization_rule_name=identity"],
    "bpe_bf": ["--vocab_size=900", "--model_type=bpe", "--byte_fallback=true",
               "--character_coverage=0.98"],
    "uni_suffix": ["--vocab_size=800", "--model_type=unigram", "--treat_whitespace_as_suffix=true",
                   f"--denormalization_rule_tsv={work}/denorm.tsv"],
}

texts = []
for name in ("marian-en-de", "t5", "bart"):
    with open(f"tests/fixtures/tokenizers/{name}/cases.jsonl") as f:
        texts += [json.loads(l)["text"] for l in f]
texts += ["<sep>a<sep>", "x @@ y@@z", "## ##x <ctl> ABAB AAB ab 123 456", "\u2116 5", "a-b eee",
          "  double  spaces  ", "tab\there", "\u00e9\u0301 \ufb01", "\U0001F600 \u4e2d\u6587 bytes",
          "Hello\u2581World \u2581\u2581 x", "\x00nul\x00", "a\u200bb"]
texts = list(dict.fromkeys(texts))

for name, args in models.items():
    subprocess.run(["spm_train", *common, f"--model_prefix={out}/{name}", *args], check=True)
    os.remove(f"{out}/{name}.vocab")
    sp = spm.SentencePieceProcessor(model_file=f"{out}/{name}.model")
    with open(f"{out}/{name}.cases.jsonl", "w") as f:
        for t in texts:
            ids = sp.encode(t)
            f.write(json.dumps({"text": t, "ids": ids, "pieces": sp.encode(t, out_type=str),
                                "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
print("wrote", out)
