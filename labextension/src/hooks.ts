/** React hooks shared by the mlnb views. */
import { ISignal } from '@lumino/signaling';
import { useEffect, useReducer } from 'react';

/** Re-render whenever ``model.changed`` fires. */
export function useModel(model: { readonly changed: ISignal<any, void> }): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = () => bump();
    model.changed.connect(slot);
    return () => {
      model.changed.disconnect(slot);
    };
  }, [model]);
}
