// EtherType numbers (IEEE 802 registry) used by the stack, and the 802.3 length/type boundary.
// Values below 0x0600 in the type/length field are an IEEE 802.3 length (LLC frame), not an EtherType.

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** IEEE 802.1Q customer VLAN tag. */
  VLAN: 0x8100,
  RARP: 0x8035,
  IPV6: 0x86dd,
  /** IEEE 802.1ad service VLAN tag (QinQ outer tag). */
  QINQ: 0x88a8,
  LLDP: 0x88cc,
  /** Pre-standard QinQ outer tag still emitted by some switches. */
  QINQ_LEGACY: 0x9100,
} as const;

/** Smallest EtherType; 0..1500 is an 802.3 length and 1501..1535 is undefined (IEEE 802.3 §3.2.6). */
export const ETHERTYPE_MIN = 0x0600;

/** Largest 802.3 length value. */
export const IEEE8023_MAX_LENGTH = 1500;

/** True for the TPIDs this stack accepts as VLAN tags (802.1Q, 802.1ad, legacy 0x9100). */
export function isVlanTpid(v: number): boolean {
  return v === 0x8100 || v === 0x88a8 || v === 0x9100;
}

/** True when a type/length field value is an EtherType rather than an 802.3 length. */
export function isEtherType(v: number): boolean {
  return v >= ETHERTYPE_MIN;
}
