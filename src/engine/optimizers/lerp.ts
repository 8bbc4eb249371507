/**
 * torch.lerp's CPU formula, start + weight * (end - start), evaluated from whichever end is
 * nearer so it is exact at weight 0 and 1 — PyTorch uses it for Adam's and RMSprop's running
 * means, and matching it keeps rounding identical.
 */
export function lerp(start: number, end: number, weight: number): number {
  return weight < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
}
