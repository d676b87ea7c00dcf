/** Segments: list, size, preview, overlap; create and update rule segments (over src/segments). */
import type { ServerContext } from '../context';
import type { RouteDef } from '../route-kit';

export function segmentRoutes(_ctx: ServerContext): RouteDef[] {
  return [];
}
