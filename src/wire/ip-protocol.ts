// IP protocol / IPv6 Next Header numbers (IANA "Assigned Internet Protocol Numbers").

export const IpProtocol = {
  /** IPv6 Hop-by-Hop Options (only valid directly after the IPv6 header, RFC 8200 §4.1). */
  HOPOPT: 0,
  ICMP: 1,
  IGMP: 2,
  /** IPv4-in-IP encapsulation. */
  IPV4: 4,
  TCP: 6,
  UDP: 17,
  /** IPv6 encapsulation (6in4). */
  IPV6: 41,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
} as const;
