// Writes the default corpus for the text-generation example (studies/corpus/default.txt): a few
// KB of English-like prose generated from a small hand-written grammar, so the project ships
// training text that is its own and carries no copyright. Deterministic: the same seed gives the
// same file. Run: node --import tsx examples/data/make-corpus.ts [--seed N] [--paragraphs N] [--out PATH]

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { makeRng, pick, randInt, type Rng } from "../../studies/data/rng.ts";
import { DEFAULT_CORPUS } from "../../studies/data/text.ts";

const PEOPLE = ["the keeper", "the miller", "the old fisherman", "the baker", "the ferryman", "the weaver", "the young clerk", "the shepherd", "the teacher", "the carpenter"];
const PLACES = ["the harbour", "the mill", "the hill above the town", "the market square", "the lighthouse", "the narrow bridge", "the orchard", "the quiet library", "the river bank", "the station"];
const TIMES = ["in the morning", "at dusk", "before the rain", "after supper", "on the first day of spring", "late in the autumn", "when the tide was low", "long before dawn", "in the middle of winter", "on a warm evening"];
const THINGS = ["a lantern", "a bundle of letters", "a blue coat", "a basket of apples", "an old map", "a wooden box", "a loaf of bread", "a silver key", "a small boat", "a book of songs"];
const VERBS = ["carried", "found", "mended", "painted", "sold", "lost", "hid", "gave away", "opened", "kept"];
const PARTICIPLES = ["carried", "found", "mended", "painted", "sold", "lost", "hidden", "given away", "opened", "kept"];
const FEELINGS = ["glad", "tired", "curious", "quiet", "restless", "hopeful", "worried", "patient", "proud", "sleepy"];
const WEATHER = ["the wind came in from the sea", "a grey fog lay over the roofs", "the sky was clear and cold", "rain drummed on the windows", "the sun warmed the stones", "snow covered the roads", "the clouds moved slowly east", "the air smelled of salt and smoke"];
const SAYINGS = ["the road is long but the company is good", "a closed door keeps the warmth in", "every tide comes back", "small lights are seen from far away", "the river does not hurry and still arrives", "bread shared is bread doubled"];

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sentence(rng: Rng): string {
  switch (randInt(rng, 0, 7)) {
    case 0:
      return `${cap(pick(rng, TIMES))}, ${pick(rng, PEOPLE)} ${pick(rng, VERBS)} ${pick(rng, THINGS)} near ${pick(rng, PLACES)}.`;
    case 1:
      return `${cap(pick(rng, WEATHER))}, and ${pick(rng, PEOPLE)} felt ${pick(rng, FEELINGS)}.`;
    case 2:
      return `${cap(pick(rng, PEOPLE))} walked to ${pick(rng, PLACES)} ${pick(rng, TIMES)}.`;
    case 3:
      return `"${cap(pick(rng, SAYINGS))}," said ${pick(rng, PEOPLE)}.`;
    case 4:
      return `Nobody knew why ${pick(rng, PEOPLE)} had ${pick(rng, PARTICIPLES)} ${pick(rng, THINGS)}.`;
    case 5:
      return `${cap(pick(rng, PEOPLE))} and ${pick(rng, PEOPLE)} met at ${pick(rng, PLACES)}, where ${pick(rng, WEATHER)}.`;
    case 6:
      return `There was ${pick(rng, THINGS)} on the table, and ${pick(rng, PEOPLE)} was ${pick(rng, FEELINGS)}.`;
    default:
      return `${cap(pick(rng, TIMES))} ${pick(rng, WEATHER)}.`;
  }
}

/** The corpus text: `paragraphs` paragraphs of 3 to 6 sentences each. */
export function makeCorpus(seed: number, paragraphs: number): string {
  const rng = makeRng(seed);
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const n = randInt(rng, 3, 6);
    const sentences: string[] = [];
    for (let i = 0; i < n; i++) sentences.push(sentence(rng));
    out.push(sentences.join(" "));
  }
  return out.join("\n\n") + "\n";
}

function main(argv: string[]): void {
  let seed = 1997;
  let paragraphs = 60;
  let out = DEFAULT_CORPUS;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === "--seed" || flag === "--paragraphs") && value !== undefined && /^\d+$/.test(value)) {
      if (flag === "--seed") seed = Number(value);
      else paragraphs = Number(value);
      i++;
    } else if (flag === "--out" && value !== undefined) {
      out = value;
      i++;
    } else {
      process.stderr.write(`unknown or incomplete option: ${flag}\nusage: make-corpus.ts [--seed N] [--paragraphs N] [--out PATH]\n`);
      process.exit(2);
    }
  }
  const text = makeCorpus(seed, paragraphs);
  writeFileSync(out, text);
  process.stdout.write(`wrote ${text.length} characters to ${out}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main(process.argv.slice(2));
