// Korean (and Japanese, Chinese) input: Enter pressed to finish an IME composition must not
// submit the form. Browsers mark that keydown with isComposing; Safari sends the Enter that ends
// a composition after compositionend, with isComposing false but keyCode 229 ("IME processing").

interface KeyLike {
  key: string;
  keyCode?: number;
  isComposing?: boolean;
  nativeEvent?: { isComposing?: boolean; keyCode?: number };
  preventDefault(): void;
}

export function isImeEnter(e: KeyLike): boolean {
  // Only Enter: other keys during a composition (key "Process", keyCode 229) are the typing itself.
  if (e.key !== 'Enter') return false;
  const composing = e.nativeEvent?.isComposing ?? e.isComposing ?? false;
  const code = e.nativeEvent?.keyCode ?? e.keyCode;
  return composing || code === 229;
}

/**
 * Put on a form as `onKeyDownCapture`: an Enter that belongs to an IME composition never reaches
 * the form's implicit submission (preventing the keydown cancels it).
 */
export function blockImeEnter(e: KeyLike): void {
  if (isImeEnter(e)) e.preventDefault();
}
