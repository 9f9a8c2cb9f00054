package dev.legato.bench; final class Placeholder {}
