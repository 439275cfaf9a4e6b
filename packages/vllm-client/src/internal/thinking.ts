const OPEN = '<think>';
const CLOSE = '</think>';

/**
 * Streams content deltas into thinking and answer text. Servers without a reasoning parser leave `<think>…</think>`
 * inline (what vllm-protocol.md §5 recommends for confidence work); servers with one send `reasoning`/`reasoning_content`,
 * which goes through `addReasoning`. Templates that put `<think>` in the prompt (Qwen3.5) only emit `</think>`, so with
 * thinking on, a `</think>` in the answer moves everything before it into the thinking text.
 */
export class ThinkingSplitter {
  readonly #implicitOpen: boolean;
  #state: 'start' | 'thinking' | 'answer' = 'start';
  #head = '';
  #inline = '';
  #answer = '';
  #server: string | null = null;
  #sawTag = false;
  #implicitDone = false;
  /** After </think>, whitespace before the answer (Qwen's "\n\n") may arrive over several deltas. */
  #trimLead = false;

  /** @param thinking whether thinking was enabled for the request (allows a `</think>` without `<think>`). */
  constructor(thinking: boolean) {
    this.#implicitOpen = thinking;
  }

  addReasoning(delta: string): void {
    this.#server = this.#server === null ? delta : this.#server + delta;
  }

  addContent(delta: string): void {
    if (delta.length === 0) return;
    switch (this.#state) {
      case 'start': {
        this.#head += delta;
        const trimmed = this.#head.trimStart();
        if (trimmed.startsWith(OPEN)) {
          this.#sawTag = true;
          this.#state = 'thinking';
          this.#head = '';
          this.#addThinking(trimmed.slice(OPEN.length), 0);
        } else if (trimmed.length === 0 || OPEN.startsWith(trimmed)) {
          // Could still become "<think>": hold it back.
        } else {
          this.#state = 'answer';
          const head = this.#head;
          this.#head = '';
          this.#addAnswer(head);
        }
        return;
      }
      case 'thinking':
        this.#addThinking(delta, Math.max(0, this.#inline.length - CLOSE.length + 1));
        return;
      case 'answer':
        this.#addAnswer(delta);
        return;
    }
  }

  #addThinking(delta: string, searchFrom: number): void {
    this.#inline += delta;
    const at = this.#inline.indexOf(CLOSE, searchFrom);
    if (at === -1) return;
    const rest = this.#inline.slice(at + CLOSE.length);
    this.#inline = this.#inline.slice(0, at);
    this.#state = 'answer';
    this.#implicitDone = true;
    this.#trimLead = true;
    this.#addAnswer(rest);
  }

  #addAnswer(delta: string): void {
    if (this.#trimLead) {
      delta = delta.trimStart();
      if (delta.length === 0) return;
      this.#trimLead = false;
    }
    const before = this.#answer.length;
    this.#answer += delta;
    if (!this.#implicitOpen || this.#implicitDone) return;
    const at = this.#answer.indexOf(CLOSE, Math.max(0, before - CLOSE.length + 1));
    if (at === -1) return;
    this.#sawTag = true;
    this.#implicitDone = true;
    this.#inline = this.#answer.slice(0, at);
    this.#answer = this.#answer.slice(at + CLOSE.length).trimStart();
    this.#trimLead = this.#answer.length === 0;
  }

  /** Answer text so far. */
  get text(): string {
    return this.#state === 'start' ? '' : this.#answer;
  }

  /** Thinking text so far (server-split first, then inline), or null when there is none. */
  get reasoning(): string | null {
    if (this.#server === null && !this.#sawTag) return null;
    if (this.#server === null) return this.#inline;
    return this.#sawTag ? this.#server + this.#inline : this.#server;
  }

  /**
   * Final split: undecided leading text becomes answer; thinking text is trimmed.
   * @param truncated the output was cut (length, early stop). With thinking on and `<think>` in the prompt, a cut
   *   output without `</think>` is all thinking (as vLLM's Qwen3 parser reads it), not an answer to judge.
   */
  finish(truncated = false): { text: string; reasoning: string | null } {
    if (this.#state === 'start') {
      this.#state = 'answer';
      this.#answer = this.#head;
      this.#head = '';
    }
    if (truncated && this.#implicitOpen && !this.#implicitDone && this.#server === null && this.#answer.length > 0) {
      this.#sawTag = true;
      this.#implicitDone = true;
      this.#inline = this.#answer;
      this.#answer = '';
    }
    const reasoning = this.reasoning;
    return { text: this.#answer, reasoning: reasoning === null ? null : reasoning.trim() };
  }
}
