// Per-client limits count an IPv6 client by its /64 (the prefix a subscriber or host gets and
// rotates addresses within) and an IPv4 client by its address.
import { expect, test } from "vitest";
import { clientAddressKey } from "@pooya/runtime";

test("an IPv4 address is its own key, mapped into IPv6 or not", () => {
  expect(clientAddressKey("192.0.2.1")).toBe("192.0.2.1");
  expect(clientAddressKey("192.0.2.2")).toBe("192.0.2.2");
  expect(clientAddressKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
  expect(clientAddressKey("::ffff:c000:201")).toBe("192.0.2.1");
});

test("every IPv6 address of one /64 is one key, however it is written", () => {
  const keys = [
    "2001:db8:1:2::1",
    "2001:db8:1:2:ffff:ffff:ffff:ffff",
    "2001:DB8:0001:0002:a:b:c:d",
    "2001:db8:1:2:0:0:0:0",
    "fe80::1%eth0".replace("fe80::1", "2001:db8:1:2::9"),
  ];
  expect(new Set(keys.map(clientAddressKey))).toEqual(new Set(["2001:db8:1:2::/64"]));
});

test("neighbouring /64s are different clients", () => {
  expect(clientAddressKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
  expect(clientAddressKey("2001:db8:1:2::1")).not.toBe(clientAddressKey("2001:db8:1:3::1"));
  expect(clientAddressKey("2001:db8::1")).toBe("2001:db8::/64");
  expect(clientAddressKey("::1")).toBe("::/64");
  expect(clientAddressKey("fe80::1%eth0")).toBe("fe80::/64");
});

test("something that is not an address is kept as it is", () => {
  expect(clientAddressKey("unknown")).toBe("unknown");
  expect(clientAddressKey("")).toBe("");
  expect(clientAddressKey("2001:db8::g")).toBe("2001:db8::g");
});
