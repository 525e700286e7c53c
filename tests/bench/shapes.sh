# tests/bench/shapes.sh - the benchmark's shapes of traffic, sourced by
# run.sh and live.sh: shape_args SHAPE prints gen.py's arguments for it at
# $SCALE percent; shape_cap SHAPE prints its capture's path under $dir,
# generating the capture and its ground truth (.truth) the first time.
shape_args() {
	case $1 in
	mixed)   echo "$((7400 * SCALE / 100)) 100" ;;
	smtp)    echo "$((14800 * SCALE / 100)) 0" ;;
	noise90) echo "$((1480 * SCALE / 100)) 900" ;;
	short)   echo "$((100000 * SCALE / 100)) 0 --conc 2048 --body 1024:8192" ;;
	lossy)   echo "$((7400 * SCALE / 100)) 100 --lossy" ;;
	*) echo "bench: unknown shape $1" >&2; exit 2 ;;
	esac
}
shape_cap() {
	_a=$(shape_args "$1") || exit 2
	_c=$dir/$1-$(echo "$_a" | tr -c 'a-z0-9\n' '_').pcap
	[ -e "$_c" ] && [ -e "$_c.truth" ] ||
	    /usr/bin/python3 tests/bench/gen.py "$_c" $_a --truth "$_c.truth" >&2 || exit 1
	echo "$_c"
}
