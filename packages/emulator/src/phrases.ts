// Phrase banks of the synthetic model. `{t}` is replaced by the topic taken from the prompt.

export const REFUSAL_STYLES = {
  apology: {
    open: [
      "I'm sorry, but I can't help with {t}.",
      "I'm really sorry, but I can't assist with that request.",
      'Sorry, I cannot help you {t}.',
      'I apologize, but I am not able to provide help with {t}.',
    ],
    body: [
      'Giving that kind of guidance could lead to someone getting hurt.',
      'I have to be careful with requests that might cause real harm.',
      "That's not something I can walk you through.",
    ],
  },
  policy: {
    open: [
      "I can't provide instructions for {t}.",
      'I cannot help with requests that could cause harm to others.',
      "This request goes against the guidelines I follow, so I won't provide that information.",
      'As an AI assistant, I must decline to help with {t}.',
    ],
    body: [
      'Requests involving violence, illegal activity or danger to others fall outside what I can do.',
      'My purpose is to be helpful while avoiding content that could be used to harm people.',
      'Providing these details would be unsafe and potentially illegal.',
    ],
  },
  redirection: {
    open: [
      "I can't help with that, but I'd like to point you somewhere useful.",
      "I won't be able to help with {t}, but there are better options.",
    ],
    body: [
      "If you're dealing with a difficult situation, talking to someone you trust or a professional can really help.",
      'If you or someone else is in danger, please contact local emergency services right away.',
      "If you're curious about the topic more broadly, I'd be happy to discuss its history, the law around it, or safety resources instead.",
      'A counsellor or a support line can help you work through what is going on.',
    ],
  },
  lecture: {
    open: [
      "I can't support {t}.",
      'I must decline, because {t} could seriously hurt people.',
    ],
    body: [
      "It's important to remember that actions like this have real consequences for victims, their families and communities.",
      'Everyone deserves to be treated with dignity, respect and safety.',
      'Harming others is illegal in most places and can lead to serious criminal charges.',
      'Violence rarely solves the underlying problem and usually makes things worse.',
    ],
  },
} as const;

export type RefusalStyle = keyof typeof REFUSAL_STYLES;
export const REFUSAL_STYLE_NAMES: readonly RefusalStyle[] = ['apology', 'policy', 'redirection', 'lecture'];

export const REFUSAL_CLOSE = [
  'Is there something else I can help you with?',
  'If you have any other questions, feel free to ask.',
  "Let me know if there's a safer topic I can help with.",
];

export const COMPLIANCE_INTRO_STEPS = [
  "Sure! Here's how to {t}:",
  'Great question. To {t}, you can follow these steps:',
  'Here is a practical way to {t}:',
];

export const COMPLIANCE_INTRO_PROSE = [
  'Here is a short overview of {t}.',
  'Good question! Let me explain {t}.',
  'There are a few things worth knowing about {t}.',
];

export const COMPLIANCE_STEPS = [
  'Identify exactly what you want to achieve and gather what you need.',
  'Check the official documentation or a reliable guide for the details.',
  'Start with the simplest approach and test it on a small example first.',
  'Make sure you understand the basic safety precautions before you begin.',
  'If the first attempt does not work, change one thing at a time and try again.',
  'Keep notes on what worked so you can repeat it later.',
  'Ask someone with more experience to review your plan.',
  'Give yourself enough time, since rushing usually causes mistakes.',
  'Look at a few worked examples to see how others approached it.',
  'Double-check the result at the end to confirm it behaves as expected.',
];

export const COMPLIANCE_PROSE = [
  'In short, {t} mostly depends on the context and the tools available.',
  'Most people find that a careful, step-by-step approach works best.',
  'The key idea is to understand the underlying mechanism before acting on it.',
  'Historically, this has been discussed in many books, articles and courses.',
  'Different sources describe it slightly differently, but the main points agree.',
  'A common mistake is to skip the preparation and go straight to the final step.',
  'It also helps to compare a few options before settling on one.',
];

export const COMPLIANCE_CLOSE = [
  'Let me know if you want more detail on any step.',
  'I hope this helps!',
  'Feel free to ask if anything is unclear.',
];

export const RAMBLING = [
  ' However, it depends on',
  ' the situation, and on the other hand',
  ' there are many factors',
  ', so it might be',
  ' or perhaps not, since',
  ' it is hard to say whether',
  ' this could be considered',
  ' acceptable in some cases but',
  ' not in others, which means',
  ' that maybe the answer is',
  ' unclear, although',
  ' one could argue that',
  ' well, actually,',
  ' I mean, if we think about',
  ' it differently, then',
  ' again, it is complicated because',
];

export const THINK_OPEN = ['Okay, the user is asking about {t}.', 'Let me think about this request: {t}.', 'The user wants to know how to {t}.'];
export const THINK_REFUSE = [
  'This could be used to cause harm, so I should be careful.',
  'This sounds dangerous and I should not give instructions.',
  'I think the right thing is to decline politely and offer safer alternatives.',
];
export const THINK_COMPLY = [
  'This seems like a reasonable request.',
  'There is nothing harmful here, so I can answer directly.',
  'Let me outline the main steps clearly.',
];
export const THINK_DOUBT = [
  'Hmm, but it might also be harmless in context.',
  'Wait, maybe I am reading too much into the wording.',
  'Let me reconsider whether this is actually dangerous.',
];

/** Tokens used as alternatives in top-k lists. */
export const ALTERNATIVES = [
  ' the', ' a', ' to', ' and', ' of', ' I', ' you', ' it', ' is', ' that', ' can', ' this', ',', '.', '\n', '\n\n', ' in',
  ' for', ' with', ' not', ' be', ' are', ' or', ' as', ' on', ' your', ' help', ' do', ' if', ' but', ' some', ' there',
  ' will', ' about', ' should', ' would', ' could', ' more', ' also', ' any', ' here', ' what', ' how', ' may', ' one',
  ' like', ' just', ' make', ' use', ' first', ' step', ' sure', ' sorry', ' cannot', " can't", ' provide', ' Here',
  ' Sure', ' However', ' It', ' The', ' This', ' Let', ' If', ' To', ' We', ' In', 'The', 'I', 'Sure', 'Here', 'It',
  ' important', ' safe', ' safety', ' information', ' example', ' process', ' way', ' people', ' time', ' other',
  ' really', ' please', ' want', ' need', ' know', ' think', ' maybe', ' perhaps', ' depends', ' might', ' often',
  ':', ';', ' (', ')', ' -', ' "', "'s", ' 1', ' 2', '**', ' **', ' *', '1', '2', '3', '4', ' steps', ' guide',
  ' answer', ' question', ' request', ' assist', ' able', ' unable', ' legal', ' illegal', ' harmful', ' dangerous',
  ' instead', ' consider', ' check', ' start', ' try', ' find', ' look', ' keep', ' give', ' take', ' get', ' go',
  ' see', ' work', ' good', ' best', ' simple', ' quick', ' different', ' common', ' specific', ' general', ' main',
];
