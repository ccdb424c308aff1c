# Shared by bench/train.sh and bench/train-extra.sh (sourced with their arguments: [STEPS]): the Flora
# reference's setup and helpers over the JSON-lines logs.
BIN=${BIN:-.build/release}
PY=${PYTHON:-python3}
OUT=bench-out/train
STEPS=${1:-2000}
mkdir -p "$OUT"
corpus=$OUT/corpus.txt
common=(--config small --data "$corpus" --steps "$STEPS" --batch 8 --ctx 128 --seed 7 --eval-every 100 -T 2 -q -f)

# run NAME FLAGS...: trains (unless a complete log exists), keeping the JSON log and the TSV curve.
run() {
    local name=$1; shift
    [ -f "$OUT/$name.jsonl" ] && [ "$(wc -l < "$OUT/$name.jsonl")" -ge "$STEPS" ] && return 0
    "$BIN/floratrain" "${common[@]}" "$@" --log "$OUT/$name.jsonl" --tsv "$OUT/$name.tsv" -o "$OUT/$name.safetensors"
}

# val LOG STEP: the validation loss logged at STEP.
val() { $PY -c "import json; print(next((f\"{json.loads(l)['val_loss']:.3f}\" for l in open('$1') if json.loads(l)['step'] == $2 and 'val_loss' in json.loads(l)), '-'))"; }
# train LOG: the mean training loss of the last 50 steps.
train() { $PY -c "import json, statistics; r = [json.loads(l) for l in open('$1')]; print('%.3f' % statistics.mean(x['loss'] for x in r[-50:]))"; }
# field LOG KEY: a field of the last line.
field() { $PY -c "import json; r = [json.loads(l) for l in open('$1')]; print(r[-1]['$2'])"; }
# speed LOG: median tokens per second after the first steps.
speed() { $PY -c "import json, statistics; r = [json.loads(l) for l in open('$1')]; print('%.0f' % statistics.median(x['tokens_per_s'] for x in r[5:]))"; }
# gap VALUE BASE: VALUE over BASE in percent.
gap() { $PY -c "print('%+.1f%%' % (100 * ($1 / $2 - 1)))" 2>/dev/null || echo -; }
