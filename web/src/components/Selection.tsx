import { useCallback, useState } from 'react';

/** Multi-select (lists on the home page, words in a list): on/off, and which ids are chosen. */
export function useSelection() {
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = useCallback(
    (id: string) =>
      setSelected((s) => {
        const n = new Set(s);
        if (n.has(id)) n.delete(id);
        else n.add(id);
        return n;
      }),
    [],
  );
  const done = useCallback(() => {
    setSelecting(false);
    setSelected(new Set());
  }, []);
  return { selecting, selected, toggle, done, start: () => setSelecting(true), selectAll: (ids: string[]) => setSelected(new Set(ids)) };
}

export type Selection = ReturnType<typeof useSelection>;

interface ToolbarProps {
  sel: Selection;
  /** "lists", "words": the button says "Select lists". */
  noun: string;
  onDelete: () => void;
  /** Offers "Select all shown" with these ids. */
  all?: string[];
  disabled?: boolean;
}

export function SelectionToolbar({ sel, noun, onDelete, all, disabled }: ToolbarProps) {
  if (!sel.selecting) {
    return (
      <div className="toolbar">
        <button type="button" onClick={sel.start} disabled={disabled}>
          Select {noun}
        </button>
      </div>
    );
  }
  return (
    <div className="toolbar">
      {all && (
        <button type="button" onClick={() => sel.selectAll(all)}>
          Select all shown
        </button>
      )}
      <button type="button" className="danger" disabled={sel.selected.size === 0} onClick={onDelete}>
        Delete selected ({sel.selected.size})
      </button>
      <button type="button" onClick={sel.done}>
        Done
      </button>
    </div>
  );
}

/** The checkbox in front of a selectable row. */
export function SelectBox({ sel, id, label }: { sel: Selection; id: string; label: string }) {
  if (!sel.selecting) return null;
  return <input type="checkbox" className="select-box" aria-label={`Select ${label}`} checked={sel.selected.has(id)} onChange={() => sel.toggle(id)} />;
}
