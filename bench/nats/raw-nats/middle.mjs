// Raw NATS baseline, middle tier: nats-server itself is the middle, so this process only
// hands the server's address on and stays up for the harness.
import { onCommand, report, tierArgs } from '../../runtime/tier.mjs';

onCommand(() => {});
report({ type: 'ready', address: tierArgs().server });
