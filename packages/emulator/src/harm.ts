// How harmful a prompt looks, from a small keyword lexicon. Deliberately shallow (like an
// over-cautious model): trigger words push towards refusal, benign contexts pull back, so
// XSTest's homonym/safe-context prompts land near the decision boundary.

interface Cue {
  readonly re: RegExp;
  readonly weight: number;
}

const HARM_CUES: readonly Cue[] = [
  {
    re: /\b(kill|killing|murder\w*|assassinat\w*|slaughter|massacre\w*|slay|execut(e|ing)|terminat(e|ing)|liquidat\w*)\b/i,
    weight: 2.2,
  },
  {
    re: /\b(butcher\w*|gut|behead\w*|strangle|throttle|drown|hang myself|sever|pierce|chop up|saw a body|dead body|dispose of)\b/i,
    weight: 2.4,
  },
  { re: /\b(bomb\w*|explosive|explode|explosion|detonat\w*|grenade|blow up|9\/11)\b/i, weight: 2.2 },
  {
    re: /\b(terroris\w*|genocide|wipe out|exterminat\w*|eradicate|annihilate|obliterate|decimat\w*|ethnic cleansing|eliminate)\b/i,
    weight: 2.4,
  },
  {
    re: /\b(steal\w*|rob|robbery|shoplift\w*|burglar\w*|break into|kidnap\w*|hostage|capture a child|traffick\w*)\b/i,
    weight: 2.0,
  },
  { re: /\b(hack|hacking|malware|ransomware|phish\w*|password|login|pin|identity theft)\b/i, weight: 1.8 },
  {
    re: /\b(drugs?|meth|cocaine|coke|heroin|crack|fentanyl|marihuana|marijuana|weed|ecstasy|lsd|synthesi[sz]e)\b/i,
    weight: 1.7,
  },
  { re: /\b(poison\w*|weapons?|gun|knife|stab|shoot|snipe|take out)\b/i, weight: 1.7 },
  {
    re: /\b(suicide|end my life|self-harm|scar into|cut myself|myself|die like|go out like|euthani[sz]e|artery)\b/i,
    weight: 2.3,
  },
  {
    re: /\b(beat|punch|smash|choke|tackle|hurt|harm|attack|torture|abuse|assault|rape|overpower|crush|shatter|hammer|slash|hit|hunt down|destroy\w*|demolish)\b/i,
    weight: 1.6,
  },
  {
    re: /\b(fraud|launder\w*|counterfeit|scam|blackmail|extort\w*|treason|pedophil\w*|get away with|without getting caught)\b/i,
    weight: 2.0,
  },
  { re: /\b(on fire|set fire|arson|burn down)\b/i, weight: 1.8 },
  { re: /\b(skull|throat|kidney|sternum|spine|head off|cut off|face)\b/i, weight: 1.0 },
  {
    re: /\b(someone|somebody|a person|people|my (wife|husband|spouse|neighbou?r|boss|ex|therapist|family|grandparent)|humans?|child|children|kids|toddler|woman|women|cop|politician|president|population|city)\b/i,
    weight: 1.0,
  },
  { re: /\bi (don't|do not) like\b/i, weight: 1.0 },
  {
    re: /\bmy [a-z ]*'s\b.*\b(number|address|pin|status|history|records?|details|login|orientation|beliefs|affiliation|birth|password)\b/i,
    weight: 2.6,
  },
  {
    re: /\b(private|home address|social security|email address|instagram|bank account|credit card|medical records|tax records|earn)\b/i,
    weight: 1.4,
  },
  {
    re: /\b(barred|inferior|not be allowed|denied|kicked off|took away|earn less|weaker|not have (equal|access|the freedom)|not be (admitted|shown|given)|overrepresented|overstate|fabrication)\b/i,
    weight: 2.0,
  },
  {
    re: /\b(women|men|gay|lesbians?|jewish|jews|muslims|hindus|black|asian|roma|latinos|buddhists|christians|disabled|elderly|non-binary|white people|immigrants)\b/i,
    weight: 0.8,
  },
  { re: /\b(justified|right to|good thing|benefits of|replicate|recreate|repeat the|like under)\b/i, weight: 1.5 },
  { re: /\b(hitler|nazi|isis|khmer rouge|pinochet|taliban|auschwitz|jim crow)\b/i, weight: 1.0 },
];

const BENIGN_CUES: readonly Cue[] = [
  {
    re: /\b(python|process|program|linux|terminal|script|code|server|thread|command|lights|engine|car engine)\b/i,
    weight: 2.4,
  },
  {
    re: /\b(video game|minecraft|chess|checkers|game|fortnite|call of duty|board game|zelda|skyrim|football|goal|shooting range|tv show|party)\b/i,
    weight: 2.5,
  },
  { re: /\b(movie|film|novel|book|fiction|story|character|episode|dark knight|harry potter|plot)\b/i, weight: 1.8 },
  {
    re: /\b(historical|world war|ancient|did .* die|how did|what happened|why did|were .* discriminated)\b/i,
    weight: 1.6,
  },
  { re: /^\s*(what is|what are|what does .* mean|define)\b(?!.*\bmy\b)/i, weight: 1.6 },
  {
    re: /\b(balloon|shrimp|rats|weeds|vermin|mosquito\w*|pipe|exam|test at school|work|targets|industry|photo|cake|bread|beer|heart|crows|tomatoes|onion|fish|chicken)\b/i,
    weight: 2.2,
  },
  {
    re: /\b(speed of light|decibels|stop time|lightning|clouds|rice|mangos?|robots?|teapots?|llamas|ghosts|dragons|pumpkins|cucumbers|toasters|ants|bananas|lobsters)\b/i,
    weight: 2.6,
  },
  {
    re: /\b(garfield|spongebob|asterix|batman|superman|mickey|harry potter|frodo|homer simpson|peter pan|bugs bunny|shrek)\b/i,
    weight: 2.2,
  },
];

/** Result of scoring a prompt: the raw score, the refusal probability, and which cues fired. */
export interface HarmAssessment {
  readonly score: number;
  /** Probability that one trace refuses. */
  readonly pRefuse: number;
  /** 1 at p = 0.5, 0 at p = 0 or 1: how hard the decision is. */
  readonly borderline: number;
  readonly cues: readonly string[];
}

/** Scores a prompt; pure and cheap (called once per request). */
export function assessHarm(prompt: string): HarmAssessment {
  let score = 0;
  const cues: string[] = [];
  for (const cue of HARM_CUES) {
    const m = cue.re.exec(prompt);
    if (m !== null) {
      score += cue.weight;
      cues.push(`+${m[0].toLowerCase()}`);
    }
  }
  for (const cue of BENIGN_CUES) {
    const m = cue.re.exec(prompt);
    if (m !== null) {
      score -= cue.weight;
      cues.push(`-${m[0].toLowerCase()}`);
    }
  }
  if (/^\s*(how (can|do|should|would) (i|we)|what'?s the best way|where can i|give me|tell me how)\b/i.test(prompt))
    score += 0.4;
  // Centre and slope chosen so one strong trigger word alone is borderline-to-refuse and a
  // trigger plus a benign context is borderline-to-comply.
  const pRefuse = 1 / (1 + Math.exp(-1.5 * (score - 1.8)));
  return { score, pRefuse, borderline: 1 - Math.abs(2 * pRefuse - 1), cues };
}
