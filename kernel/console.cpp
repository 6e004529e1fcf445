#include "kernel/console.h"

#include "arch/x86/cpu.h"
#include "arch/x86/uart.h"
#include "kernel/fb_text.h"

namespace ptb::console {
namespace {

x86::Uart16550 com1{0x3f8};
VgaText vga;
FbText fb;
enum class Screen { kNone, kVga, kFramebuffer } screen = Screen::kNone;
bool machine_on_screen = false;

void screen_write(const char* s, usize n);

void serial_write(const char* s, usize n) {
  const bool was_present = com1.present();
  for (usize i = 0; i < n; ++i) {
    if (s[i] == '\n') com1.put('\r');
    com1.put(static_cast<u8>(s[i]));
  }
  if (was_present && com1.given_up()) {
    const char kNote[] = "warning: serial: COM1 stopped sending; from here on the screen only\n";
    screen_write(kNote, sizeof(kNote) - 1);
  }
}

void screen_write(const char* s, usize n) {
  if (screen == Screen::kVga) vga.write(s, n);
  if (screen == Screen::kFramebuffer) fb.write(s, n);
}

}  // namespace

void init_serial() { com1.init(); }
bool serial_present() { return com1.present(); }

void attach_vga_text(u64 cells_addr, u32 columns, u32 rows) {
  vga = VgaText(reinterpret_cast<volatile u16*>(cells_addr), columns, rows);
  vga.clear();
  // Hide the hardware cursor the BIOS left blinking somewhere: CRTC register 0Ah (cursor start),
  // bit 5 = cursor off.
  x86::outb(0x3d4, 0x0a);
  x86::outb(0x3d5, 0x20);
  screen = Screen::kVga;
}

bool attach_framebuffer(const FramebufferDesc& d) {
  FbInfo info{reinterpret_cast<u8*>(d.addr),
              d.pitch,
              d.width,
              d.height,
              d.bpp,
              d.red_pos,
              d.red_size,
              d.green_pos,
              d.green_size,
              d.blue_pos,
              d.blue_size};
  if (!fb.init(info)) return false;  // in place: FbText keeps its character grid inside
  fb.clear();
  screen = Screen::kFramebuffer;
  return true;
}

const char* screen_kind() {
  switch (screen) {
    case Screen::kVga:
      return "vga-text";
    case Screen::kFramebuffer:
      return "framebuffer";
    case Screen::kNone:
      break;
  }
  return "none";
}

void set_machine_lines_on_screen(bool on) { machine_on_screen = on; }

u32 screen_columns() {
  if (screen == Screen::kVga) return vga.columns();
  if (screen == Screen::kFramebuffer) return fb.columns();
  return 0;
}

u32 screen_rows() {
  if (screen == Screen::kVga) return vga.rows();
  if (screen == Screen::kFramebuffer) return fb.rows();
  return 0;
}

void screen_clear() {
  if (screen == Screen::kVga) vga.clear();
  if (screen == Screen::kFramebuffer) fb.clear();
}

void screen_line(const TextBuf& t) {
  screen_write(t.c_str(), t.size());
  screen_write("\n", 1);
}

void write(const char* s, usize n) {
  serial_write(s, n);
  screen_write(s, n);
}

void serial_line(const char* s) {
  serial_write(s, str_len(s));
  serial_write("\n", 1);
}

void serial_line(const TextBuf& t) {
  serial_write(t.c_str(), t.size());
  serial_write("\n", 1);
}

void line(const char* s) {
  write(s, str_len(s));
  write("\n", 1);
}

void line(const TextBuf& t) {
  write(t.c_str(), t.size());
  write("\n", 1);
}

void record(const TextBuf& json) {
  serial_write("PTIBENCH ", 9);
  serial_write(json.c_str(), json.size());
  serial_write("\n", 1);
  if (machine_on_screen) {
    screen_write("PTIBENCH ", 9);
    screen_write(json.c_str(), json.size());
    screen_write("\n", 1);
  }
}

void drain() { com1.drain(); }

}  // namespace ptb::console
