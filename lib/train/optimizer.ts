/**
 * AdamW as fastai v1 runs it (`OptimWrapper(Adam, true_wd=True, bn_wd=True)`): per-layer-group learning
 * rates, β1 set by the momentum schedule every step, β2 = 0.99, and weight decay applied to the weights
 * (`w ← w·(1 − lr·wd)`) before the Adam step instead of being added to the gradient.
 *
 *   const opt = new AdamW({ wd: 1e-2 });
 *   opt.step(vars, grads, groupOfVar, { lrs: [1e-4, 1e-3], mom: 0.95 });
 *
 * Deliberate differences from 1.0.33 (which ran on PyTorch 1.0): eps is added after bias correction
 * (PyTorch ≥ 1.5 and fastai v2), and defaults to 1e-5 (fastai v2) rather than 1e-8, which in float32
 * lets a near-zero second moment blow a step up; pass `eps: 1e-8` for PyTorch's value.
 */
import { tf } from '../backend/index';
import type { Hyper } from './schedule';

export interface AdamWOptions {
  /** Decoupled weight decay (fastai default 1e-2), applied to every trainable weight incl. BatchNorm. */
  wd?: number;
  beta2?: number;
  eps?: number;
}

/** One variable's Adam moments and step count. */
interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

/** Serializable optimizer state: per variable (by name) its moments and step count. */
export interface OptimizerState {
  options: Required<AdamWOptions>;
  slots: { name: string; step: number; m: Float32Array; v: Float32Array; shape: number[] }[];
}

/** Adam with decoupled weight decay; moments are keyed by variable name, so freezing keeps them. */
export class AdamW {
  readonly options: Required<AdamWOptions>;
  private slots = new Map<string, Slot>();

  constructor(opts: AdamWOptions = {}) {
    this.options = { wd: opts.wd ?? 1e-2, beta2: opts.beta2 ?? 0.99, eps: opts.eps ?? 1e-5 };
  }

  /**
   * Updates `vars` in place from `grads` (same order). `group[i]` is the layer group of vars[i],
   * which picks its learning rate from `hyper.lrs`. Disposes nothing it was given.
   */
  step(vars: { name: string; variable: tf.Variable }[], grads: tf.Tensor[], group: number[], hyper: Hyper): void {
    const { wd, beta2, eps } = this.options;
    const beta1 = hyper.mom;
    vars.forEach(({ name, variable }, i) => {
      const lr = hyper.lrs[group[i]!]!;
      let slot = this.slots.get(name);
      if (!slot) {
        slot = { m: ownedVariable(tf.zerosLike(variable)), v: ownedVariable(tf.zerosLike(variable)), step: 0 };
        this.slots.set(name, slot);
      }
      slot.step += 1;
      const s = slot;
      // PyTorch (≥ 1.5) / fastai v2 Adam: bias-correct both moments, then add eps; β1 is this step's
      // (fastai changes it every step).
      const debias1 = 1 - beta1 ** s.step;
      const debias2Sqrt = Math.sqrt(1 - beta2 ** s.step);
      tf.tidy(() => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        s.m.assign(m);
        s.v.assign(v);
        const decayed = wd !== 0 ? tf.mul(variable, 1 - lr * wd) : variable;
        const denom = tf.add(tf.div(tf.sqrt(v), debias2Sqrt), eps);
        variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / debias1)));
      });
    });
  }

  /** Copies the state out (for checkpoints and lrFind's restore). */
  getState(): OptimizerState {
    const slots = [...this.slots].map(([name, s]) => ({
      name,
      step: s.step,
      shape: s.m.shape,
      m: Float32Array.from(s.m.dataSync()),
      v: Float32Array.from(s.v.dataSync()),
    }));
    return { options: { ...this.options }, slots };
  }

  /** Replaces the state with `state` (its options included). */
  setState(state: OptimizerState): void {
    this.reset();
    Object.assign(this.options, state.options);
    for (const s of state.slots) {
      this.slots.set(s.name, { m: ownedVariable(tf.tensor(s.m, s.shape)), v: ownedVariable(tf.tensor(s.v, s.shape)), step: s.step });
    }
  }

  /** Forgets all moments (fastai re-creates its optimizer on freeze/unfreeze). */
  reset(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}

/** A non-trainable variable holding `t`'s values; `t` is disposed (tf.variable would keep it alive). */
function ownedVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}
