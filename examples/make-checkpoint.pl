#!/usr/bin/perl
# Writes a small LLaMA-shaped checkpoint of Gaussian weights as safetensors, with perl alone (perl is
# on every Debian machine), so that the demo and the benchmarks have an input anywhere.
#
# usage: make-checkpoint.pl [--dtype BF16|F32|F16] [--layers N] [--dim D] [--ffn F] [--vocab V]
#                           [--repeat R] [--seed S] OUT.safetensors
# --repeat R writes each tensor's data R times over (R stacked copies along a new first dimension),
#            to make large files fast for benchmarks.
use strict;
use warnings;
use Getopt::Long;

my ($dtype, $layers, $dim, $ffn, $vocab, $repeat, $seed) = ('BF16', 2, 64, 172, 256, 1, 1);
GetOptions('dtype=s' => \$dtype, 'layers=i' => \$layers, 'dim=i' => \$dim, 'ffn=i' => \$ffn,
           'vocab=i' => \$vocab, 'repeat=i' => \$repeat, 'seed=i' => \$seed) or die "usage: see the header of $0\n";
my $out = shift or die "make-checkpoint.pl: no output file given\n";
my %size = (BF16 => 2, F16 => 2, F32 => 4);
die "make-checkpoint.pl: --dtype must be BF16, F16 or F32\n" unless $size{$dtype};
srand($seed);

# Tensor list in Hugging Face LLaMA naming: [name, shape, std]; norms are near 1.
my @tensors = (["model.embed_tokens.weight", [$vocab, $dim], 0.02]);
for my $l (0 .. $layers - 1) {
    my $p = "model.layers.$l";
    push @tensors, ["$p.input_layernorm.weight", [$dim], -1],
        ["$p.self_attn.q_proj.weight", [$dim, $dim], 1 / sqrt($dim)],
        ["$p.self_attn.k_proj.weight", [$dim, $dim], 1 / sqrt($dim)],
        ["$p.self_attn.v_proj.weight", [$dim, $dim], 1 / sqrt($dim)],
        ["$p.self_attn.o_proj.weight", [$dim, $dim], 1 / sqrt($dim)],
        ["$p.post_attention_layernorm.weight", [$dim], -1],
        ["$p.mlp.gate_proj.weight", [$ffn, $dim], 1 / sqrt($dim)],
        ["$p.mlp.up_proj.weight", [$ffn, $dim], 1 / sqrt($dim)],
        ["$p.mlp.down_proj.weight", [$dim, $ffn], 1 / sqrt($ffn)];
}
push @tensors, ["model.norm.weight", [$dim], -1];

sub gaussian { my $u = 1 - rand(); return sqrt(-2 * log($u)) * cos(6.283185307179586 * rand()); }

sub encode {    # one float to the chosen dtype, round to nearest even
    my ($x) = @_;
    my $bits = unpack('L<', pack('f<', $x));
    return pack('L<', $bits) if $dtype eq 'F32';
    return pack('S<', (($bits + 0x7FFF + (($bits >> 16) & 1)) >> 16) & 0xFFFF) if $dtype eq 'BF16';
    return pack('e', $x) if $] >= 5.030;    # F16 through perl's half pack when available
    die "make-checkpoint.pl: F16 needs perl 5.30\n";
}

my ($offset, @entries, @blobs) = (0);
for my $t (@tensors) {
    my ($name, $shape, $std) = @$t;
    my $n = 1;
    $n *= $_ for @$shape;
    my $blob = join '', map { encode($std < 0 ? 1 + 0.05 * gaussian() : $std * gaussian()) } 1 .. $n;
    $blob = $blob x $repeat;
    my @full = $repeat > 1 ? ($repeat, @$shape) : @$shape;
    my $end = $offset + length $blob;
    push @entries, sprintf('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}', $name, $dtype, join(',', @full), $offset, $end);
    push @blobs, $blob;
    $offset = $end;
}
my $json = '{"__metadata__":{"format":"pt","generator":"make-checkpoint.pl"},' . join(',', @entries) . '}';
$json .= ' ' x ((8 - length($json) % 8) % 8);
my $tmp = "$out.tmp$$";
open my $fh, '>:raw', $tmp or die "make-checkpoint.pl: $tmp: $!\n";
print $fh pack('Q<', length $json), $json, @blobs or die "make-checkpoint.pl: $out: $!\n";
close $fh or die "make-checkpoint.pl: $out: $!\n";
rename $tmp, $out or die "make-checkpoint.pl: $out: $!\n";
