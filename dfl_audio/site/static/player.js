/* dfl-audio player: placeholder. The `player` branch replaces this file with the player that
 * enhances the episode page's native <audio> (see /work/notes/site-contract.md). */
