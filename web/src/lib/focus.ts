// After an in-app navigation, the next focusable heading to mount takes focus (see Heading).
let requested = false;

export function requestFocus(): void {
  requested = true;
}

export function consumeFocusRequest(): boolean {
  const r = requested;
  requested = false;
  return r;
}
